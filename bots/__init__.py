"""The Discord bot: Midjourney's commands on Lienzo's core. Talks only to `hub.service.Hub`."""
