"""``python -m seqdoctor``: the same command line as the ``seqdoctor`` script."""

from seqdoctor.cli import run

run()
