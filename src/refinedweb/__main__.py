import sys

from refinedweb.cli import main

sys.exit(main())
