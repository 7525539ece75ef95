//! Strongly connected components of a dependency graph, without recursion: chains of
//! locals or resources any number of links long cost heap, never call stack.

/// The strongly connected components of the graph with nodes `0..n` and edges `edges(u)`
/// (u depends on each v), in dependency order: every component comes after the components
/// it depends on. Each component lists its nodes in ascending order.
pub fn sccs<'e>(n: usize, edges: impl Fn(usize) -> &'e [usize]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut next = 0usize;
    // (node, position in its edge list)
    let mut work: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        work.push((root, 0));
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (u, ref mut pos)) = work.last_mut() {
            let es = edges(u);
            if *pos < es.len() {
                let v = es[*pos];
                *pos += 1;
                if v >= n {
                    continue;
                }
                if index[v] == UNSEEN {
                    index[v] = next;
                    low[v] = next;
                    next += 1;
                    stack.push(v);
                    on_stack[v] = true;
                    work.push((v, 0));
                } else if on_stack[v] {
                    low[u] = low[u].min(index[v]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[u]);
            }
            if low[u] == index[u] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp.push(w);
                    if w == u {
                        break;
                    }
                }
                comp.sort_unstable();
                out.push(comp);
            }
        }
    }
    out
}

/// True if the component is a cycle: more than one node, or one node that depends on
/// itself.
pub fn is_cycle<'e>(comp: &[usize], edges: impl Fn(usize) -> &'e [usize]) -> bool {
    match comp {
        [one] => edges(*one).contains(one),
        [] => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_come_first_and_cycles_are_grouped() {
        // 0 -> 1 -> 2 -> 1, 3 -> 3, 4 alone
        let g: Vec<Vec<usize>> = vec![vec![1], vec![2], vec![1], vec![3], vec![]];
        let c = sccs(g.len(), |u| &g[u]);
        assert_eq!(c, vec![vec![1, 2], vec![0], vec![3], vec![4]]);
        assert!(is_cycle(&[1, 2], |u| &g[u]));
        assert!(is_cycle(&[3], |u| &g[u]));
        assert!(!is_cycle(&[4], |u| &g[u]));
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 200_000;
        let g: Vec<Vec<usize>> = (0..n)
            .map(|i| if i + 1 < n { vec![i + 1] } else { vec![0] })
            .collect();
        let c = sccs(n, |u| &g[u]);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].len(), n);
    }
}
