"""`datagen build`: compress a corpus into Parquet ladders; `datagen show`: read some of them."""
