// Types of the demo portal's figures, for the tests that check them.
export declare function transactions(
  from: string,
  to: string,
): { date: string; account: string; amount: string; currency: string }[];
export declare function positions(
  asOf: string,
): { account: string; fund: string; quantity: number; price: string; value: string }[];
