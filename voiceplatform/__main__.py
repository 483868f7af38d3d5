from voiceplatform.cli import main

main()
