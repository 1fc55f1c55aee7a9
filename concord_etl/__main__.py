from concord_etl.cli import main

main(prog_name="concord-etl")
