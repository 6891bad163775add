"""`python -m cftrain.datasets {download,import-gmsc,verify}`: raw data of method.md §4."""

import sys

from cftrain.datasets.raw import main

sys.exit(main())
