"""`flask credits ...`: the issued-credit pool from the command line."""

from flask.cli import AppGroup

cli = AppGroup("credits", help="The issued-credit pool: import batches, audit the gram accounting.")
