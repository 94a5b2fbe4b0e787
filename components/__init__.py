"""Platform components: one concept per module. See each module's docstring for what it creates."""
