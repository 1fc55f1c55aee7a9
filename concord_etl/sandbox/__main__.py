import sys

from concord_etl.sandbox.runner import main

sys.exit(main())
