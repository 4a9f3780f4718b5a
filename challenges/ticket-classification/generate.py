"""Seeded generator of ticket-classification's data: support tickets, hidden categories.

Run on the grading host, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ byte for byte (with the
same NumPy version); any other seed gives fresh tickets from the same templates.

A ticket is a subject and a body written from per-category sentence templates with
slots, then roughened the way real tickets are: vague subjects, greetings and
signatures, off-topic asides, a second concern mentioned in passing, typos, shouting,
missing punctuation. Categories share words on purpose (a refund is asked for in
returns and in billing; "someone logged into my account" is security, "I can't log in"
is login), the rarest ones most of all, and about 3 % of the labels are wrong, as in any
hand-labelled queue.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

Table = dict[str, list[str]]

SEED = 20250331
TRAIN_ROWS = 4000
TEST_ROWS = 2000
LABEL_NOISE = 0.03
BORROWED = 0.5  # share of tickets that also mention another category's concern
CATEGORIES = ["billing", "login", "delivery", "returns", "bug", "account", "cancellation",
              "security"]
SHARES = [0.24, 0.19, 0.17, 0.14, 0.11, 0.07, 0.05, 0.03]

SLOTS: dict[str, list[str]] = {
    "order": ["#{n}", "order {n}", "order no. {n}", "#A{n}"],
    "amount": ["12.99", "49.00", "7.50", "120", "89.90", "24.95", "310.00"],
    "month": ["January", "February", "March", "April", "May", "June", "last month"],
    "days": ["3", "5", "ten", "two", "7", "12", "14"],
    "device": ["iPhone", "Android phone", "iPad", "laptop", "Pixel", "Samsung tablet", "PC"],
    "item": ["jacket", "shoes", "headphones", "coffee machine", "phone case", "backpack",
             "desk lamp", "sneakers"],
    "courier": ["DHL", "UPS", "the courier", "DPD", "the post office", "Hermes"],
    "page": ["checkout", "my orders page", "the cart", "search", "the login page",
             "the settings page"],
}

SUBJECTS: dict[str, list[str]] = {
    "billing": ["Invoice question", "Charged twice", "Wrong amount on invoice",
                "Payment failed", "VAT on my invoice", "Card declined", "Billing issue"],
    "login": ["Can't log in", "Password reset not working", "Locked out",
              "Login problem", "2FA code not arriving", "Reset link expired"],
    "delivery": ["Where is my order?", "Parcel not delivered", "Tracking not updating",
                 "Late delivery", "Package lost", "Delivery status"],
    "returns": ["Return request", "Refund for returned item", "Return label",
                "Exchange size", "Refund not received", "Wrong item, want to return"],
    "bug": ["App crashes", "Error on checkout", "Page not loading", "Bug report",
            "App keeps freezing", "Error 500"],
    "account": ["Change my email", "Update address", "Change name on account",
                "Delete my account", "Update phone number", "Merge two accounts"],
    "cancellation": ["Cancel subscription", "Stop my membership", "Cancel plan",
                     "Don't renew", "Cancellation request"],
    "security": ["Suspicious login", "Account hacked?", "Unknown charge",
                 "Someone used my account", "Phishing email", "Password changed, not me"],
}
VAGUE_SUBJECTS = ["Help", "Question", "URGENT", "Problem", "Hi", "Issue with my account",
                  "Re: your order", "Please help!!", "Support request", "(no subject)",
                  "Quick question", "Complaint"]

SENTENCES: dict[str, list[str]] = {
    "billing": [
        "I was charged {amount} twice for {order}.",
        "My invoice for {month} shows the wrong amount, it should be {amount}.",
        "Can you send me an invoice with our company VAT number?",
        "My card was declined but the money was taken from my bank anyway.",
        "The payment failed three times and now my order is on hold.",
        "Why is there an extra charge of {amount} on my statement?",
        "I need a copy of the invoice for {order} for my accounting.",
        "You billed me {amount} but the price on the website was lower.",
        "Can I change the payment method on my account to PayPal?",
        "I want a refund of the double charge of {amount}.",
    ],
    "login": [
        "I can't log in to my account since {month}.",
        "The password reset email never arrives.",
        "The reset link says it has expired every time I click it.",
        "My account is locked after too many login attempts.",
        "I don't get the two-factor code by SMS anymore.",
        "I changed phones and lost my authenticator app, now I can't sign in.",
        "It says my password is wrong but I just reset it.",
        "Login keeps looping back to the sign in page on my {device}.",
        "How do I log in if I no longer have access to my old email?",
    ],
    "delivery": [
        "My order {order} still hasn't arrived after {days} days.",
        "The tracking for {order} hasn't updated since {month}.",
        "{courier} says the parcel was delivered but I never got it.",
        "Where is my {item}? It was supposed to arrive {days} days ago.",
        "The delivery date keeps moving, can you tell me when {order} will come?",
        "The parcel was sent back to you by {courier}, please ship it again.",
        "Can I change the delivery address for {order}, it hasn't shipped yet.",
        "My package is stuck in customs.",
    ],
    "returns": [
        "I want to return the {item} from {order}, it doesn't fit.",
        "I sent the {item} back {days} days ago and still no refund.",
        "Please send me a return label for {order}.",
        "Can I exchange the {item} for a bigger size?",
        "You sent me the wrong {item}, I want to return it.",
        "The {item} arrived broken, I'd like a refund or a replacement.",
        "How long does the refund take once you receive my return?",
        "The return portal gives an error for {order}.",
    ],
    "bug": [
        "The app crashes as soon as I open {page} on my {device}.",
        "I get an error 500 on {page}.",
        "{page} doesn't load, it just shows a blank screen.",
        "The app freezes when I try to pay.",
        "Since the last update the app won't start on my {device}.",
        "The search results are empty for everything I type.",
        "Buttons on {page} don't respond in Firefox.",
        "Images don't load in the app on my {device}.",
        "The page shows an error and logs me out every few minutes.",
    ],
    "account": [
        "Please change the email address on my account.",
        "I moved, how do I update my address?",
        "I'd like to change the name on my account after getting married.",
        "Please delete my account and all my data.",
        "How can I update my phone number?",
        "I have two accounts, can you merge them?",
        "I want to download all the data you have about me.",
        "Can I change my username?",
        "Please close my account, I don't use it anymore.",
    ],
    "cancellation": [
        "Please cancel my subscription.",
        "I want to stop my membership before it renews in {month}.",
        "How do I cancel my plan? I can't find the button.",
        "Don't renew my subscription, I was charged {amount} last time.",
        "I cancelled last month but you charged me {amount} again.",
        "Please end my premium membership and refund this month.",
        "I'd like to downgrade to the free plan and stop paying.",
    ],
    "security": [
        "Someone logged into my account from another country.",
        "I got an email about a password change that I didn't make.",
        "There is a charge of {amount} on my account that I don't recognise.",
        "I think my account was hacked, there are orders I didn't place.",
        "I received a phishing email that looks like it's from you.",
        "My email on the account was changed by someone else.",
        "An order {order} was placed from my account but not by me.",
        "I got a login code by SMS that I never asked for.",
    ],
}
# A second concern mentioned in passing, borrowed from another category: shared words.
ASIDES = [
    "Also, the app was slow yesterday.", "By the way my last order arrived fine.",
    "I also need an invoice at some point.", "And I forgot my password last week too.",
    "Also please update my address if you can.", "I've been a customer for years.",
    "The delivery guy was very nice though.", "I might cancel if this isn't fixed.",
]
GREETINGS = ["Hi,", "Hello,", "Dear support,", "Hey", "Good morning,", "Hi team,", ""]
SIGNATURES = ["Thanks", "Regards, Anna", "Thank you!", "Best, Tom", "Cheers", "Sent from my phone",
              "Kind regards", "", ""]


def _fill(rng: np.random.Generator, template: str) -> str:
    out = template
    for slot, values in SLOTS.items():
        key = "{" + slot + "}"
        while key in out:
            value = values[int(rng.integers(0, len(values)))]
            out = out.replace(key, value.format(n=int(rng.integers(100000, 999999))), 1)
    return out


def _typos(rng: np.random.Generator, text: str, rate: float) -> str:
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) > 3 and rng.random() < rate:
            j = int(rng.integers(1, len(word) - 1))
            kind = rng.random()
            if kind < 0.4:
                word = word[:j] + word[j + 1] + word[j] + word[j + 2:]
            elif kind < 0.7:
                word = word[:j] + word[j + 1:]
            else:
                word = word[:j] + word[j] + word[j:]
        words[i] = word
    return " ".join(words)


def ticket(rng: np.random.Generator, category: str) -> tuple[str, str]:
    own = SENTENCES[category]
    count = 1 + int(rng.random() < 0.35)
    picks = rng.choice(len(own), size=count, replace=False)
    parts = [_fill(rng, own[i]) for i in picks]
    if rng.random() < BORROWED:  # a concern of another category, mentioned in passing
        other = CATEGORIES[int(rng.integers(0, len(CATEGORIES)))]
        if other != category:
            borrowed = SENTENCES[other]
            aside = _fill(rng, borrowed[int(rng.integers(0, len(borrowed)))])
            parts.insert(int(rng.integers(0, len(parts) + 1)), aside)
    if rng.random() < 0.25:
        parts.append(ASIDES[int(rng.integers(0, len(ASIDES)))])
    greeting = GREETINGS[int(rng.integers(0, len(GREETINGS)))]
    signature = SIGNATURES[int(rng.integers(0, len(SIGNATURES)))]
    body = " ".join(p for p in [greeting, *parts, signature] if p)
    body = _typos(rng, body, 0.06)
    style = rng.random()
    if style < 0.08:
        body = body.upper()
    elif style < 0.25:
        body = body.lower().replace(".", "").replace(",", "")
    subject_pool = SUBJECTS[category] if rng.random() < 0.4 else VAGUE_SUBJECTS
    subject = _typos(rng, subject_pool[int(rng.integers(0, len(subject_pool)))], 0.03)
    return subject, body


def tables(seed: int = SEED) -> tuple[Table, Table, Table]:
    """(train with labels, test without labels, test labels)."""
    rng = np.random.default_rng(seed)
    n = TRAIN_ROWS + TEST_ROWS
    truth = rng.choice(len(CATEGORIES), size=n, p=np.array(SHARES) / sum(SHARES))
    texts = [ticket(rng, CATEGORIES[c]) for c in truth]
    flipped = rng.random(n) < LABEL_NOISE
    labels = np.where(flipped, rng.integers(0, len(CATEGORIES), n), truth)
    ids = rng.choice(np.arange(100000, 1000000), size=n, replace=False)
    columns: Table = {
        "ticket_id": [f"TK{i}" for i in ids],
        "subject": [s for s, _ in texts],
        "body": [b for _, b in texts],
    }
    label_cells = [str(int(c)) for c in labels]
    split = TRAIN_ROWS
    train = {name: cells[:split] for name, cells in columns.items()} | {
        "category_id": label_cells[:split]}
    test = {name: cells[split:] for name, cells in columns.items()}
    hidden = {"ticket_id": columns["ticket_id"][split:], "category_id": label_cells[split:]}
    return train, test, hidden


def csv_bytes(table: Table) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table)
    writer.writerows(zip(*table.values(), strict=True))
    return out.getvalue().encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The variant's files by path relative to its root (``public/...``, ``hidden/...``)."""
    train, test, hidden = tables(seed)
    categories = {"category_id": [str(i) for i in range(len(CATEGORIES))],
                  "category": CATEGORIES}
    return {
        "public/train.csv": csv_bytes(train),
        "public/test.csv": csv_bytes(test),
        "public/categories.csv": csv_bytes(categories),
        "hidden/labels.csv": csv_bytes(hidden),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--public", type=Path, required=True)
    parser.add_argument("--hidden", type=Path, required=True)
    args = parser.parse_args(argv)
    targets = {"public": args.public, "hidden": args.hidden}
    for relative, data in files(args.seed).items():
        area, name = relative.split("/", 1)
        path = targets[area] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
