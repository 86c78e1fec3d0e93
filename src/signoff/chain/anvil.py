"""Start and stop a real anvil node on loopback (npm ``@foundry-rs/anvil-linux-amd64``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from signoff import children
from signoff.errors import ChainError

ANVIL_CHAIN_ID = 31337
_LISTENING = re.compile(r"Listening on (127\.0\.0\.1:\d+)")
_START_SECONDS = 20.0


def find_anvil(*search_from: Path) -> str:
    """``$SIGNOFF_ANVIL``, else ``node_modules/.bin/anvil`` in a ``search_from`` folder, a
    parent of one, or beside the signoff checkout; else ``anvil`` on PATH."""
    override = os.environ.get("SIGNOFF_ANVIL")
    if override:
        if not Path(override).is_file():
            raise ChainError(f"SIGNOFF_ANVIL={override} does not exist. Next step: point it at an anvil binary")
        return override
    checkout = Path(__file__).resolve().parents[3]  # src/signoff/chain/anvil.py -> checkout
    folders = [folder.resolve() for folder in search_from] + [checkout]
    for directory in (d for folder in folders for d in (folder, *folder.parents)):
        candidate = directory / "node_modules" / ".bin" / "anvil"
        if candidate.exists():
            return str(candidate)
    on_path = shutil.which("anvil")
    if on_path:
        return on_path
    raise ChainError(
        "anvil (needed by --network anvil and --signoff-fork) was not found: $SIGNOFF_ANVIL is not set, no "
        f"node_modules/.bin/anvil in {', '.join(str(folder) for folder in folders)} or their parents, and no anvil "
        "on PATH. Next step: install Foundry (anvil on PATH), or `npm install @foundry-rs/anvil-linux-amd64` in "
        "your project, or set SIGNOFF_ANVIL=/path/to/anvil"
    )


class AnvilNode:
    """One anvil process on a free 127.0.0.1 port; :meth:`stop` (or our exit) ends it."""

    def __init__(self, binary: str, extra_args: Sequence[str] = (), *, chain_id: int = ANVIL_CHAIN_ID) -> None:
        self.binary = binary
        self.extra_args = tuple(extra_args)
        self.chain_id = chain_id  # a fork keeps the forked network's id
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self._output: list[str] = []

    def version(self) -> str:
        """``anvil --version``'s first line (for the report), or why it is unknown."""
        try:
            done = subprocess.run([self.binary, "--version"], capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"unknown ({exc.__class__.__name__})"
        return (done.stdout.strip().splitlines() or ["unknown"])[0]

    def start(self) -> str:
        args = [self.binary, "--host", "127.0.0.1", "--port", "0", "--chain-id", str(self.chain_id), *self.extra_args]
        self._process = children.spawn(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
        )
        found = threading.Event()
        reader = threading.Thread(target=self._read_output, args=(found,), daemon=True)
        reader.start()
        if not found.wait(_START_SECONDS) or not self.url:
            code = None
            if found.is_set():  # its output ended: the process is exiting
                try:
                    code = self._process.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    code = None
            self.stop()
            tail = "".join(self._output[-5:]).strip() or "(no output)"
            why = f"exited with code {code}" if code is not None else f"did not start within {_START_SECONDS:.0f} s"
            raise ChainError(f"anvil ({self.binary}) {why}; it said: {tail}")
        return self.url

    def _read_output(self, found: threading.Event) -> None:
        assert self._process is not None and self._process.stdout is not None
        with self._process.stdout as stream:  # closed here when anvil's output ends, not left to the GC
            for line in stream:
                self._output.append(line)
                del self._output[:-50]
                match = _LISTENING.search(line)
                if match and not found.is_set():
                    self.url = f"http://{match.group(1)}"
                    found.set()
        found.set()  # process ended: wake the waiter

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            children.stop(process)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> AnvilNode:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
