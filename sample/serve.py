"""`sample serve --model RUN`: the sampler over HTTP/JSON, and a page that shows an expansion grow.

Starlette (routes, JSON and streamed responses, nothing more: the options are checked by the sampler's
own definition of valid ranges, sample.decode) on uvicorn, the usual ASGI server. One thread owns the
model: it takes every request waiting when a pass starts and writes the next rung of all their samples
in one batched pass (model.decoder takes rows of different steps, lengths and decodings at once), so
concurrent users share passes instead of queueing behind each other.

    POST /v1/expand   {"seed", "steps", "num", "tree", "temperature", "top_p", "top_k", "words",
                       "rng_seed", "max_new_tokens", "lexicon", "stream"} -> what `sample --json` prints; with
                       "stream": true, server-sent events: one `rung` event per rung written, then `done`
    GET  /healthz     200 once the model is loaded (503 before)
    GET  /            the page

Bad input gets a 4xx JSON error naming the field; the server binds 127.0.0.1 unless told otherwise,
and with --api-key (or TEXTLADDER_API_KEY) it requires `Authorization: Bearer KEY` on the API.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from importlib import resources

from model.align import Rung
from model.decoder import decode_step
from model.export import ModelError
from model.format import rung_of, source_ids
from model.task import Task
from sample.cli import json_trajectory, open_model
from sample.decode import Decoding, OptionError, draw
from sample.expand import BATCH, check_request, lexicon_narrow, minimum_words, row_input
from sample.flags import add_model

MAX_BODY = 64 * 1024  # bytes of a request body
OPTIONS = {
    "seed": str,
    "steps": int,
    "num": int,
    "tree": int,
    "temperature": float,
    "top_p": float,
    "top_k": int,
    "words": int,
    "rng_seed": int,
    "max_new_tokens": int,
    "lexicon": str,
    "stream": bool,
}


class BadRequest(Exception):
    def __init__(self, status: int, field_name: str | None, message: str):
        super().__init__(message)
        self.status, self.field, self.message = status, field_name, message


@dataclass
class Job:
    """One request: its options, its trajectories as they grow, and how it is told of progress."""

    seed: str
    steps: list[int]  # the steps its chain takes, first first
    num: int
    tree: int
    words: int | None
    decoding: Decoding
    rng_seed: int
    notify: object  # callable(event: dict), called from the model thread
    trajectories: list[list[Rung]] = field(default_factory=list)
    done_steps: int = 0
    cancelled: bool = False
    generator: object = None
    task: Task = field(default_factory=lambda: Task("ladder"))  # the model's, for the rung numbers

    def __post_init__(self):
        import torch

        self.trajectories = [[Rung(self.seed)] for _ in range(self.num)]
        self.generator = torch.Generator().manual_seed(self.rng_seed)

    @property
    def finished(self) -> bool:
        return self.done_steps == len(self.steps)

    @property
    def rungs(self) -> list[int]:
        """The rung number of each element of a trajectory so far (seed first)."""
        return [self.steps[0]] + [self.task.below(k) for k in self.steps[: self.done_steps]]


class Engine:
    """The model thread: batched passes over every waiting job's next step."""

    def __init__(self, model_arg: str | None, device: str | None, precision: str):
        self.model_arg, self.device_arg, self.precision_arg = model_arg, device, precision
        self.ready = threading.Event()
        self.error: str | None = None
        self.jobs: queue.Queue[Job] = queue.Queue()
        self.passes = 0
        self.rows_in_passes = 0
        threading.Thread(target=self._main, name="textladder-model", daemon=True).start()

    def _main(self) -> None:
        try:
            self.folder, self.model, self.tok, self.info, self.device, self.precision = open_model(
                self.model_arg, self.device_arg, self.precision_arg
            )
        except (ModelError, ValueError) as e:
            self.error = str(e)
            return
        self.ready.set()
        active: list[Job] = []
        while True:
            if not active:
                active.append(self.jobs.get())
            while True:  # every job waiting now joins this pass
                try:
                    active.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            active = [j for j in active if not j.cancelled]
            if active:
                self._pass(active)
            for j in active:
                if j.finished and not j.cancelled:
                    j.notify({"event": "done"})
            active = [j for j in active if not j.finished and not j.cancelled]

    def _rows(self, active: list[Job]):
        """The rows of one pass: each job's samples at its next step (branching `tree` ways), BATCH at most."""
        rows, taken = [], []
        for job in active:
            branches = job.tree
            need = len(job.trajectories) * branches
            if rows and len(rows) + need > BATCH:
                continue  # it waits for the next pass
            taken.append(job)
            for t in job.trajectories:
                rows += [(job, t[-1])] * branches
        return rows, taken

    def _narrow(self, rows: list[tuple[Job, str]]):
        """decode_step's `narrow` for rows of several jobs: each row's lexicon filter (sample.expand), if any."""
        import torch

        filters = [
            lexicon_narrow(self.tok, self.info, job.decoding, job.steps[job.done_steps], job.words) for job, _ in rows
        ]
        if not any(filters):
            return None
        free = torch.zeros(1, len(self.tok))  # a row with no filter

        def narrow(live, indices: list[int]):
            return torch.cat([filters[r]([row]) if filters[r] else free for row, r in zip(live, indices)])

        return narrow

    def _pass(self, active: list[Job]) -> None:
        import torch

        rows, taken = self._rows(active)
        fmt = self.info.step_format
        inputs = [
            row_input(self.model, self.tok, self.info, upper, job.steps[job.done_steps], job.decoding, job.words)
            for job, upper in rows
        ]
        sources, plans = [i[0] for i in inputs], [i[1] for i in inputs]

        def choose(logits, indices: list[int]):
            out = torch.empty(len(indices), dtype=torch.long)
            by_job: dict[int, list[int]] = {}
            for i, r in enumerate(indices):
                by_job.setdefault(id(rows[r][0]), []).append(i)
            for positions in by_job.values():
                job = rows[indices[positions[0]]][0]
                out[positions] = draw(logits[positions], job.decoding, job.generator).cpu()
            return out.to(logits.device)

        written = decode_step(self.model, self.tok, fmt, sources, plans, choose, narrow=self._narrow(rows))
        self.passes += 1
        self.rows_in_passes += len(rows)
        pos = 0
        for job in taken:
            grown = []
            for t in job.trajectories:
                for _ in range(job.tree):
                    grown.append(t + [rung_of(written[pos], rows[pos][1], fmt)])
                    pos += 1
            job.trajectories = grown
            job.done_steps += 1
            for i, t in enumerate(job.trajectories):
                job.notify({"event": "rung", "sample": i, **json_trajectory(t, job.rungs)[-1]})


def parse_options(body: bytes, info, default_words: int | None) -> dict:
    """The request's options, checked: BadRequest naming the field otherwise."""
    if len(body) > MAX_BODY:
        raise BadRequest(413, None, f"the body is over {MAX_BODY} bytes")
    try:
        raw = json.loads(body or b"{}")
    except ValueError as e:
        raise BadRequest(400, None, f"the body is not JSON ({e})") from None
    if not isinstance(raw, dict):
        raise BadRequest(400, None, "the body must be a JSON object")
    unknown = sorted(set(raw) - set(OPTIONS))
    if unknown:
        raise BadRequest(400, unknown[0], f"unknown field (known: {', '.join(OPTIONS)})")
    for name, kind in OPTIONS.items():
        value = raw.get(name)
        if value is None:
            continue
        ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise BadRequest(422, name, f"must be {kind.__name__}, not {json.dumps(value)}")
    seed = " ".join(str(raw.get("seed") or "").split())
    if not seed:
        raise BadRequest(422, "seed", "missing or empty: give a word to expand")
    steps = raw.get("steps", info.levels)
    words = raw.get("words", default_words)
    try:
        decoding = Decoding(
            float(raw.get("temperature", Decoding.temperature)),
            float(raw.get("top_p", Decoding.top_p)),
            raw.get("top_k", 0),
            raw.get("max_new_tokens"),
            raw.get("lexicon", Decoding.lexicon),
        )
        if default_words is not None and "words" not in raw:
            words = max(words, minimum_words(info, seed, steps)) if isinstance(steps, int) else words
        check_request(info, [seed], steps, raw.get("num", 1), raw.get("tree", 1), words)
    except OptionError as e:
        raise BadRequest(422, e.option, e.message) from None
    return {
        "seed": seed,
        "steps": steps,
        "num": raw.get("num", 1),
        "tree": raw.get("tree", 1),
        "words": words,
        "decoding": decoding,
        "rng_seed": raw.get("rng_seed", secrets.randbelow(2**31)),
        "stream": raw.get("stream", False),
        "words_asked": raw.get("words"),
    }


def make_app(engine: Engine, api_key: str | None, timeout: float, max_seed_tokens: int | None = None):
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
    from starlette.routing import Route

    def error(status: int, field_name: str | None, message: str) -> JSONResponse:
        return JSONResponse({"error": message, "field": field_name}, status_code=status)

    async def healthz(request):
        if engine.error:
            return JSONResponse({"status": "error", "error": engine.error}, status_code=500)
        if not engine.ready.is_set():
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "model": str(engine.folder),
                "levels": engine.info.levels,
                "objective": engine.info.objective,
                "text_words": engine.info.text_words,
                "passes": engine.passes,
                "rows_in_passes": engine.rows_in_passes,
            }
        )

    async def page(request):
        return HTMLResponse(resources.files("sample").joinpath("page.html").read_text("utf-8"))

    def settings_of(o: dict) -> dict:
        return {
            "seed": o["seed"],
            "steps": o["steps"],
            "num": o["num"],
            "tree": o["tree"],
            "rng_seed": o["rng_seed"],
            "words": o["words_asked"],
            "model": str(engine.folder),
            "objective": engine.info.objective,
            "device": engine.device,
            "precision": engine.precision,
            **o["decoding"].__dict__,
        }

    async def expand(request):
        if api_key and request.headers.get("authorization", "") != f"Bearer {api_key}":
            return error(401, "authorization", "this server needs `Authorization: Bearer KEY` (--api-key)")
        if not engine.ready.is_set():
            return error(503, None, engine.error or "the model is still loading")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            return error(413, None, f"the body is over {MAX_BODY} bytes")
        body = b""
        async for part in request.stream():
            body += part
            if len(body) > MAX_BODY:
                return error(413, None, f"the body is over {MAX_BODY} bytes")
        try:
            o = parse_options(body, engine.info, engine.info.text_words or None)
            whole = replace(engine.info.step_format, max_source_tokens=10**9)
            if max_seed_tokens and len(source_ids(engine.tok, whole, o["seed"], o["steps"])) > max_seed_tokens:
                raise BadRequest(422, "seed", f"longer than the {max_seed_tokens} tokens this model reads")
        except BadRequest as e:
            return error(e.status, e.field, e.message)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        task = Task(engine.info.task)
        job = Job(
            o["seed"],
            task.steps(o["steps"]),
            o["num"],
            o["tree"],
            o["words"],
            o["decoding"],
            o["rng_seed"],
            lambda ev: loop.call_soon_threadsafe(events.put_nowait, ev),
            task=task,
        )
        engine.jobs.put(job)
        deadline = time.monotonic() + timeout

        def result() -> dict:
            return {
                "settings": settings_of(o),
                "trajectories": [[str(r) for r in t] for t in job.trajectories],
                "rungs": [json_trajectory(t, job.rungs) for t in job.trajectories],
            }

        async def next_event():
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError
            return await asyncio.wait_for(events.get(), left)

        if not o["stream"]:
            try:
                while (await next_event())["event"] != "done":
                    if await request.is_disconnected():
                        job.cancelled = True
                        return error(499, None, "the client went away")
            except asyncio.TimeoutError:
                job.cancelled = True
                return error(504, None, f"the request ran past {timeout:g} s and was cut")
            return JSONResponse(result())

        async def stream():
            try:
                while True:
                    ev = await next_event()
                    if ev["event"] == "done":
                        yield f"event: done\ndata: {json.dumps(result(), ensure_ascii=False)}\n\n"
                        return
                    yield f"event: rung\ndata: {json.dumps(ev, ensure_ascii=False)}\n\n"
            except asyncio.TimeoutError:
                job.cancelled = True
                cut = {"error": f"the request ran past {timeout:g} s and was cut"}
                yield f"event: error\ndata: {json.dumps(cut)}\n\n"
            finally:  # also when the client goes away mid-stream: its rows leave the next pass
                job.cancelled = job.cancelled or not job.finished

        return StreamingResponse(stream(), media_type="text/event-stream")

    return Starlette(
        routes=[Route("/", page), Route("/healthz", healthz), Route("/v1/expand", expand, methods=["POST"])]
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="sample serve", description=__doc__.splitlines()[0])
    add_model(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--api-key",
        default=os.environ.get("TEXTLADDER_API_KEY"),
        help="require `Authorization: Bearer KEY` (default: $TEXTLADDER_API_KEY, else none)",
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a request may take before it is cut")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    import uvicorn

    if not 0 < args.port < 65536 or args.timeout <= 0:
        print("sample serve: error: --port must be 1-65535 and --timeout above 0", file=sys.stderr)
        return 2
    engine = Engine(args.model, args.device, args.precision)
    while not engine.ready.wait(0.1):
        if engine.error:
            print(f"sample serve: error: {engine.error}", file=sys.stderr)
            return 2
    app = make_app(engine, args.api_key, args.timeout, engine.info.max_source_tokens)
    print(f"sample serve: {engine.folder} on http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
