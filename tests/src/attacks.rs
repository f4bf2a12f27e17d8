//! The expensive documents an attacker sends, for the tests that show them
//! refused and the benchmark that times the refusals.

/// A chain of `levels` fragments, each spreading the next twice: 2^levels
/// fields once expanded, in a few hundred bytes.
pub fn fragment_bomb(levels: usize) -> String {
    let mut q = String::from("query { ...F0 }\n");
    for i in 0..levels {
        q.push_str(&format!(
            "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    q.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
    q
}

/// A query of `n` aliases of `__typename`.
pub fn aliases(n: usize) -> String {
    let fields: String = (0..n).map(|i| format!(" a{i}: __typename")).collect();
    format!("{{{fields} }}")
}
