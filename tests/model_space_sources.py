"""Source of a tiny model space written to a file by the tests that need a --space-module on disk."""

TINY_MODEL_SPACE = '''
from torch import nn
from nasforge.spaces.model_space import LayerChoice, ValueChoice


class Net(nn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        width = ValueChoice([4, 8], label="width")
        self.conv = LayerChoice({"k3": nn.Conv2d(in_channels, width, 3, padding=1),
                                 "k1": nn.Conv2d(in_channels, width, 1)}, label="conv")
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))

    def forward(self, x):
        return self.head(self.conv(x))
'''
"""A one-channel space of 4 architectures (``net.py:Net``): two widths, two convolutions."""

TWO_CHOICE_NET = ("from torch import nn\nfrom nasforge.spaces.model_space import LayerChoice, ValueChoice\n"
                  "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                  "        width = ValueChoice([3, 4], label='width')\n"
                  "        self.fc, self.out = nn.Linear(2, width), nn.Linear(width, 2)\n"
                  "        self.act = LayerChoice([nn.ReLU(), nn.Tanh()], label='act')\n"
                  "    def forward(self, x):\n        return self.out(self.act(self.fc(x)))\n")
"""A space of two-feature tabular inputs (``Net``: a width and an activation), whose module a test writes."""
