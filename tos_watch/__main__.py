from tos_watch.cli import main

main()
