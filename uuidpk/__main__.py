from uuidpk.cli import main

main()
