"""`python -m cftrain.datasets {fetch,import-gmsc,verify}`: raw data of method.md §4."""

import sys

from cftrain.datasets.fetch import main

sys.exit(main())
