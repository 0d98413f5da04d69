"""`python -m benchmarks` runs the callback benchmark."""

from benchmarks.callback import main

main()
