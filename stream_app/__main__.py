from stream_app.cli.app import main

main()
