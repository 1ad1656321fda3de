# Numbers: math, decimal, fractions, big integers, float formatting.
from __future__ import division, print_function
import decimal
import fractions
import math

print(math.sqrt(2), math.pi, math.e)
print(math.floor(-2.5), math.ceil(2.1), math.fabs(-3))
print(math.factorial(20), math.gcd(12, 18) if hasattr(math, "gcd") else fractions.gcd(12, 18))
print(math.log(1024, 2), math.log10(1000), math.hypot(3, 4))
print(math.isnan(float("nan")), math.isinf(float("-inf")))
print(round(2.675, 2), 7 // 2, -7 // 2, 7 % -3, 7 / 2)
print(2 ** 100, (2 ** 100) % 97, int("ff", 16), hex(255), oct(8), bin(5))
print(divmod(17, 5), abs(-4), pow(3, 200, 1000))

decimal.getcontext().prec = 30
print(decimal.Decimal(1) / decimal.Decimal(7))
print(decimal.Decimal("0.1") + decimal.Decimal("0.2") == decimal.Decimal("0.3"))
print(decimal.Decimal("1.2345").quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_HALF_UP))

f = fractions.Fraction(1, 3) + fractions.Fraction(1, 6)
print(f, f.numerator, f.denominator, float(f))
print(fractions.Fraction("3.1415").limit_denominator(100))
print("%.10f" % (1 / 3), "{:e}".format(12345.678), "{:,}".format(1234567))
