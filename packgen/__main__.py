from packgen.cli import main

main()
