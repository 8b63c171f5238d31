import sys

from bankctl.cli import main

sys.exit(main())
