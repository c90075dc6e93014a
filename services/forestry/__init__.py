"""Forestry: memorial forests and their plots, plantings and survival checks, tree adoption for a
donation (认建认养, 捐资造林, 古树名木认养), and the land-use compensation of business projects that
occupy forest land (经营性项目用地碳汇补偿).

Adopted trees are a donation, never credits: their projected sink is not sold and not counted as
an offset (`models.forestry`). A land-use compensation buys credits from the pool like any order.
"""
