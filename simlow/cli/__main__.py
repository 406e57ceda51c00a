import sys

from simlow.cli import main

sys.exit(main())
