"""A `refinedweb` command line with two test-only steps, run as a subprocess by the kill -9 and worker-death tests.

The steps exist only in this script, so the Ray tests also show that steps registered outside the package reach
the workers. Usage: ``python tests/data/driver.py refine ...``.
"""

import dataclasses
import os
import signal
import sys
import time

from refinedweb.data.step import PerDocumentStep, StepConfig
from refinedweb.registry import register


@register("test_sleep")
class Sleep(PerDocumentStep):
    """Slows each document down so that a kill lands part-way through a run."""

    def apply(self, doc):
        time.sleep(0.05)
        return None


@dataclasses.dataclass
class KillOnceConfig(StepConfig):
    flag: str = ""


@register("test_kill_once")
class KillOnce(PerDocumentStep):
    """Kills its own worker process the first time any worker reaches it (the flag file records that)."""

    Config = KillOnceConfig

    def apply(self, doc):
        try:
            fd = os.open(self.config.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return None
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    from refinedweb.cli import main

    sys.exit(main(sys.argv[1:]))
