"""Reference for "Classify shapes": a small convolutional network trained on the CPU."""

import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

DATA = Path(os.environ.get("HELDOUT_DATA", "/data"))
OUTPUT = Path(os.environ.get("HELDOUT_OUTPUT", "/output"))
torch.set_num_threads(1)  # one CPU in the sandbox: more threads only contend
torch.manual_seed(0)


def as_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 N×16×16 → float N×1×16×16 in 0..1."""
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)


def network(classes: int) -> nn.Module:
    # Convolutions see a shape wherever it is; pooling forgets where.
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1),
        nn.Flatten(), nn.Linear(32, classes),
    )


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x))
        total = 0.0
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        print(f"epoch {epoch + 1}: training loss {total / len(x):.3f}")


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def main() -> None:
    started = time.monotonic()
    images = as_tensor(np.load(DATA / "train_images.npy"))
    labels = torch.from_numpy(np.load(DATA / "train_labels.npy")).long()
    test = as_tensor(np.load(DATA / "test_images.npy"))

    # A fifth held out to see how well it generalises; the model trains on the rest.
    cut = len(images) * 4 // 5
    model = network(4)
    train(model, images[:cut], labels[:cut], epochs=12)
    print(f"validation accuracy: {accuracy(model, images[cut:], labels[cut:]):.3f}")
    model.eval()
    with torch.no_grad():
        predicted = model(test).argmax(1).numpy()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(predicted))
    (OUTPUT / "predictions.csv").write_text("id,label\n" + rows)
    print(f"wrote {len(predicted)} predictions in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
