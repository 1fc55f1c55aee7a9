from concord_etl.cli import main

main()
