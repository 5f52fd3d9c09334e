"""`python -m autograd`: a worked chain-rule example."""

from autograd import Value


def main() -> None:
    x = Value(2.0, label="x")
    w = Value(-3.0, label="w")
    b = Value(6.8813735870195432, label="b")
    n = x * w + b
    n.label = "n"
    out = n.tanh()
    out.label = "out"
    out.backward()
    print("out = tanh(x*w + b) =", round(out.data, 6))
    print("d out/d n = 1 - out^2 =", round(n.grad, 6))
    for v in (x, w, b):
        print(f"d out/d {v.label} = {v.grad:.6f}")


if __name__ == "__main__":
    main()
