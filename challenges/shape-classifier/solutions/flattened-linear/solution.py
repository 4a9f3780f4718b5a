"""A flawed solution: a linear model on flattened pixels, trained with PyTorch.

Plausible and quick, but a linear layer learns one template per class at fixed pixel
positions: shapes that move, grow and turn about the image defeat it.
"""

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

DATA = Path(os.environ.get("HELDOUT_DATA", "/data"))
OUTPUT = Path(os.environ.get("HELDOUT_OUTPUT", "/output"))
torch.set_num_threads(1)
torch.manual_seed(0)


def main() -> None:
    x = torch.from_numpy(np.load(DATA / "train_images.npy").astype(np.float32) / 255).flatten(1)
    y = torch.from_numpy(np.load(DATA / "train_labels.npy")).long()
    test = torch.from_numpy(np.load(DATA / "test_images.npy").astype(np.float32) / 255).flatten(1)
    model = nn.Linear(x.shape[1], 4)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(30):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch + 1}: last batch loss {loss.item():.3f}")
    with torch.no_grad():
        predicted = model(test).argmax(1).numpy()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(predicted))
    (OUTPUT / "predictions.csv").write_text("id,label\n" + rows)


if __name__ == "__main__":
    main()
