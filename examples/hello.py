"""An example repository: a workflow that calls tasks, some of them in parallel.

Run it with the README's first command, or by hand:

    coflux agent --dev examples/hello.py
    coflux submit hello print_greeting '"Joe"' --wait
"""

import coflux as cf


@cf.task()
def build_greeting(name: str, punctuation: str = "!") -> str:
    """Make the greeting text."""
    return f"Hello, {name}{punctuation}"


@cf.task()
def count_letters(text: str) -> int:
    """Count the letters in a text."""
    return sum(1 for c in text if c.isalpha())


@cf.workflow()
def print_greeting(name: str) -> str:
    """Greet someone, and count the letters of the greeting on the side."""
    greeting = build_greeting(name)
    letters = count_letters.submit(greeting)  # runs in parallel, resolved below
    print(greeting)
    cf.log_info("greeted {name} with {letters} letters", name=name, letters=letters.result())
    return greeting
