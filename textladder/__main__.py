from textladder.commands import main

main()
