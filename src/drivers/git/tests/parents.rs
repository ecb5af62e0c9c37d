//! Git parents: a change whose commits build on another open change's
//! patchset names that change (at that patchset) as its parent.

use super::*;

/// A change's number and its parents as (number, patchset), nearest first.
type Parents = (u64, Vec<(u64, String)>);

impl World {
    /// The next `n` patchset-created events as their parents, sorted by change
    /// number; ref updates of plain branches are passed over.
    async fn next_parents(&mut self, n: usize) -> Vec<Parents> {
        let mut got = Vec::new();
        while got.len() < n {
            let event = self.next_event().await;
            if event.event_type == "ref-updated" {
                continue;
            }
            assert_eq!(event.event_type, "patchset-created");
            let change = event.change.expect("a change event");
            let parents = change.parents.into_iter();
            let parents = parents.map(|p| (p.number, p.patchset)).collect();
            got.push((change.number, parents));
        }
        got.sort_by_key(|p| p.0);
        got
    }
}

fn parents(number: u64, of: &[(u64, &str)]) -> Parents {
    (
        number,
        of.iter().map(|(n, s)| (*n, s.to_string())).collect(),
    )
}

#[tokio::test]
async fn a_chain_pushed_in_one_poll_names_every_change_below_nearest_first() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo(dir.path(), "demo").await;
    let master = demo.commit(&[("a", "1")], "first").await;
    // Given A <- B <- C pushed while no poller runs, so one poll sees all
    // three; their names put each child before its parent in branch order
    let a = demo
        .branch_commit("review/master/z-a", &master, &[("a", "A")], "A")
        .await;
    let b = demo
        .branch_commit("review/master/y-b", &a, &[("b", "B")], "B")
        .await;
    demo.branch_commit("review/master/x-c", &b, &[("c", "C")], "C")
        .await;

    // When the poller reads them (numbering C 1, B 2, A 3)
    let mut w = start(dir, &["demo"]);
    let got = w.next_parents(3).await;

    // Then each names the changes it builds on, nearest first
    let expected = vec![
        parents(1, &[(2, &b), (3, &a)]),
        parents(2, &[(3, &a)]),
        parents(3, &[]),
    ];
    assert_eq!(got, expected);
    w.assert_quiet().await;
}

#[tokio::test]
async fn a_chain_pushed_over_three_polls_names_the_same_parents() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo(dir.path(), "demo").await;
    let master = demo.commit(&[("a", "1")], "first").await;
    let mut w = start(dir, &["demo"]);
    w.rounds(1).await;

    let a = demo
        .branch_commit("review/master/a", &master, &[("a", "A")], "A")
        .await;
    assert_eq!(w.next_parents(1).await, vec![parents(1, &[])]);
    let b = demo
        .branch_commit("review/master/b", &a, &[("b", "B")], "B")
        .await;
    assert_eq!(w.next_parents(1).await, vec![parents(2, &[(1, &a)])]);
    demo.branch_commit("review/master/c", &b, &[("c", "C")], "C")
        .await;

    let got = w.next_parents(1).await;

    assert_eq!(got, vec![parents(3, &[(2, &b), (1, &a)])]);
}

#[tokio::test]
async fn a_change_built_on_an_earlier_patchset_names_that_patchset() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo(dir.path(), "demo").await;
    let master = demo.commit(&[("a", "1")], "first").await;
    let mut w = start(dir, &["demo"]);
    w.rounds(1).await;
    // Given C built on B's first patchset
    let b1 = demo
        .branch_commit("review/master/b", &master, &[("b", "1")], "B")
        .await;
    assert_eq!(w.next_parents(1).await, vec![parents(1, &[])]);
    demo.git(&["checkout", "--quiet", "--detach", &b1]).await;
    let c = demo.commit(&[("c", "1")], "C").await;
    demo.git(&["checkout", "--quiet", "master"]).await;

    // When B is force-pushed to a second patchset, and only then C is pushed
    demo.branch_commit("review/master/b", &master, &[("b", "2")], "B again")
        .await;
    assert_eq!(w.next_parents(1).await, vec![parents(1, &[])]);
    demo.git(&["branch", "review/master/c", &c]).await;

    // Then C needs B at the patchset it was built on, not B's current one
    let got = w.next_parents(1).await;
    assert_eq!(got, vec![parents(2, &[(1, &b1)])]);
}

#[tokio::test]
async fn a_change_on_a_change_its_target_already_holds_has_no_parent() {
    let dir = tempfile::tempdir().unwrap();
    let demo = repo(dir.path(), "demo").await;
    let master = demo.commit(&[("a", "1")], "first").await;
    let mut w = start(dir, &["demo"]);
    w.rounds(1).await;
    // Given B, merged into master while its review branch is still there
    let b = demo
        .branch_commit("review/master/b", &master, &[("b", "1")], "B")
        .await;
    assert_eq!(w.next_parents(1).await, vec![parents(1, &[])]);
    demo.git(&["merge", "--quiet", "--ff-only", &b]).await;

    // When C is pushed on B
    demo.branch_commit("review/master/c", &b, &[("c", "1")], "C")
        .await;

    // Then C needs nothing: master has B already
    assert_eq!(w.next_parents(1).await, vec![parents(2, &[])]);
}
