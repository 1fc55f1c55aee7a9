"""concord-etl: spreadsheets ⇄ Concord CRM, safely and at the speed the CRM allows."""

__version__ = "0.1.0"

__all__ = ["__version__"]
