"""The fleet simulator: the real agent against a simulated cloud.

`world.SimWorld` stands in for EC2 and the metadata service; `fleet` runs
many agents in one process against a real SpotOpt server over HTTP.
"""
