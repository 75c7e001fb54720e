"""`python -m tos_watch` and the `tos-watch` script.

The CLI is imported only when run: worker processes re-import the script that
started them, and must not pay for the whole command line to do so.
"""


def main() -> None:
    from tos_watch.memory import tune_malloc

    tune_malloc()  # before the watchlist and the store are read: their buffers are the first large ones
    from tos_watch.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
