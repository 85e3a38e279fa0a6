"""``python -m stenosis_cli`` (e.g. under ``torchrun -m stenosis_cli train ...``)."""

from stenosis_cli.main import main

main()
