"""atheris (libFuzzer) target for the ESL parser, seeded with the real FreeSWITCH transcripts.

    .venv/bin/python -m fuzz.esl_parser -runs=10000000 -rss_limit_mb=1024 -timeout=5 [CORPUS_DIR]

Two processes given the same CORPUS_DIR share what they find (libFuzzer reloads it).

The first input byte picks the fragmentation (one of :data:`PIECES`) and the direction (FreeSWITCH→app
frames, or app→FreeSWITCH commands as the emulator parses them); the rest is the
stream.  The corpus starts from every recv()/write() of every transcript.
Extra arguments go to libFuzzer (``-help=1`` lists them).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["daemon.esl"]):
    from daemon.esl import encoding, frame, parser

from fuzz.esl_properties import check_stream
from tests.transcripts import load, transcript_files

INSTRUMENTED = (encoding, frame, parser)  # coverage feedback comes from the codec only


PIECES = (1, 3, 17, 64, 256, 1024, 4096, 1 << 16)


def one_input(data: bytes) -> None:
    if not data:
        return
    head, stream = data[0], data[1:]
    piece = PIECES[(head >> 1) & 7]
    if piece < 17:
        stream = stream[:512]  # byte-by-byte feeding is slow in Python: short streams only
    check_stream(stream, piece, commands=bool(head & 1))


def seed_corpus(directory: Path) -> int:
    count = 0
    for path in transcript_files():
        for record in load(path):
            if record.data:
                flag = b"\x00" if record.direction == "fs>app" else b"\x01"
                (directory / f"{path.stem}-{count}").write_bytes(flag + record.data)
                count += 1
    return count


def main() -> None:
    """A directory among the arguments is the corpus (seeded if empty, shared by parallel runs)."""
    flags = [a for a in sys.argv[1:] if a.startswith("-")]
    given = [Path(a) for a in sys.argv[1:] if not a.startswith("-")]
    crashes = [str(p) for p in given if p.is_file()]  # reproduce: run these inputs once each
    if crashes:
        atheris.Setup([sys.argv[0], *flags, *crashes], one_input)
        atheris.Fuzz()
        return
    corpus = given[0] if given else Path(tempfile.mkdtemp(prefix="esl-corpus-"))
    corpus.mkdir(parents=True, exist_ok=True)
    if not any(corpus.iterdir()):
        seeds = seed_corpus(corpus)
        print(f"seed corpus: {seeds} inputs from the transcripts in {corpus}", flush=True)
    atheris.Setup([sys.argv[0], "-max_len=4096", *flags, str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
