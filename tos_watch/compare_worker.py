"""The comparison worker: `python -m tos_watch.compare_worker`, started by `workers.Comparer`.

It reads one JSON request per line on stdin ({"id", "old", "new", "history"}) and writes
one JSON reply per line on stdout ({"id", "assessment" as JSON text, "verdict",
"words"} or {"id", "error"}) until stdin closes. It imports the classifier and nothing else (no
asyncio, no fetch or store stacks): 10 MB less than a worker that did.
"""

from __future__ import annotations

import json
import signal
import sys
from typing import IO, Any

from tos_watch.compare import compare_versions, history_from_json
from tos_watch.memory import tune_malloc


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """Answer comparison requests, one JSON line each, until the parent closes the pipe."""
    for line in requests:
        request = json.loads(line)
        reply: dict[str, Any] = {"id": request["id"]}
        try:
            new = request["new"]
            comparison = compare_versions(request["old"], new, history_from_json(request.get("history", ()), new))
            # The assessment goes as JSON text, which the run stores without decoding; the verdict it keeps.
            reply |= {"assessment": json.dumps(comparison.assessment), "verdict": comparison.summary(),
                      "words": comparison.words}
        except Exception as exc:  # reported as this document's failure, the worker carries on
            reply["error"] = f"{exc.__class__.__name__}: {exc}"
        replies.write(json.dumps(reply).encode() + b"\n")
        replies.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group; the parent ends the run
    tune_malloc()
    serve(sys.stdin.buffer, sys.stdout.buffer)
