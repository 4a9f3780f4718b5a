"""Three small PyTorch training routines, fixed."""

import torch
from torch import nn

torch.set_num_threads(1)  # the sandbox gives one CPU: more threads only contend


def fit_linear(x, y, steps, lr):
    """Fit y ≈ x·w + b by full-batch gradient descent on the mean squared error."""
    features = torch.tensor(x, dtype=torch.float64)
    targets = torch.tensor(y, dtype=torch.float64)
    model = nn.Linear(features.shape[1], 1).double()
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        loss = loss_fn(model(features).squeeze(1), targets)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
    return [*model.weight.detach().flatten().tolist(), model.bias.item()]


def fit_regressor(x, y, new_x, epochs, seed):
    """Train a small network on (x, y) with mini-batches; predict y for new_x."""
    torch.manual_seed(seed)
    features = torch.tensor(x, dtype=torch.float32)
    targets = torch.tensor(y, dtype=torch.float32)
    model = nn.Sequential(nn.Linear(features.shape[1], 32), nn.Tanh(), nn.Linear(32, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.MSELoss()
    for _ in range(epochs):
        order = torch.randperm(len(features))
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            optimizer.zero_grad()
            loss = loss_fn(model(features[batch]).squeeze(1), targets[batch])
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        return model(torch.tensor(new_x, dtype=torch.float32)).squeeze(1).tolist()


def classify(train_x, train_y, test_x, epochs, seed):
    """Train a classifier on (train_x, train_y); return the predicted class of each test_x row."""
    torch.manual_seed(seed)
    features = torch.tensor(train_x, dtype=torch.float32)
    labels = torch.tensor(train_y, dtype=torch.long)
    classes = int(labels.max()) + 1
    model = nn.Sequential(nn.Linear(features.shape[1], 32), nn.BatchNorm1d(32), nn.ReLU(),
                          nn.Dropout(0.3), nn.Linear(32, classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(features))
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            if len(batch) < 2:  # batch norm needs two rows to compute a variance
                continue
            optimizer.zero_grad()
            loss = loss_fn(model(features[batch]), labels[batch])
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return model(torch.tensor(test_x, dtype=torch.float32)).argmax(1).tolist()
