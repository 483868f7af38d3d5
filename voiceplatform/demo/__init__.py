"""The demos, in one place: ``main`` (the main job: the lab, the embedded server and a campaign
over HTTP), ``campaign`` (that campaign, driven through the API client), ``simulated`` (the journey
in the simulator on every channel, ``voiceplatform demo --simulated``). ``voiceplatform.cli.demo``
only parses the options."""
