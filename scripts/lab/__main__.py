"""`python3 scripts/lab <command>`: runs the lab's command line."""

import sys
from pathlib import Path

# Run as a folder, Python puts scripts/lab itself first on sys.path; the package needs scripts/ there.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from lab.cli import main  # noqa: E402 (after the path fix above)

main()
