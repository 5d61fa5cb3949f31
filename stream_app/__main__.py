from stream_app.cli.commands import main

main()
