use futures_util::StreamExt;

use crate::*;

fn open() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
    (dir, store)
}

#[tokio::test]
async fn create_update_delete_are_compare_and_swap() {
    let (_d, s) = open();
    let r1 = s.create("/registry/pods/a/x", b"1".to_vec()).await.unwrap();
    assert_eq!(s.create("/registry/pods/a/x", b"2".to_vec()).await, Err(StoreError::AlreadyExists));
    let r2 = s.update("/registry/pods/a/x", b"2".to_vec(), r1).await.unwrap();
    assert!(r2 > r1);
    match s.update("/registry/pods/a/x", b"3".to_vec(), r1).await {
        Err(StoreError::Conflict(Some(kv))) => assert_eq!(kv.mod_revision, r2),
        other => panic!("expected conflict, got {other:?}"),
    }
    assert!(matches!(s.delete("/registry/pods/a/x", Some(r1)).await, Err(StoreError::Conflict(_))));
    let (r3, prev) = s.delete("/registry/pods/a/x", Some(r2)).await.unwrap();
    assert_eq!(&prev.value[..], b"2");
    assert_eq!(s.current_revision().await.unwrap(), r3);
    assert_eq!(s.get("/registry/pods/a/x").await.unwrap(), None);
    assert_eq!(s.update("/registry/pods/a/x", b"4".to_vec(), r3).await, Err(StoreError::NotFound));
}

#[tokio::test]
async fn range_pages_and_reads_old_revisions() {
    let (_d, s) = open();
    for i in 0..5 {
        s.create(&format!("/registry/cm/ns/{i}"), vec![b'a' + i]).await.unwrap();
    }
    s.create("/registry/cmx/other", b"z".to_vec()).await.unwrap();
    let page = s.range("/registry/cm/", None, 2, 0).await.unwrap();
    assert_eq!(page.kvs.len(), 2);
    assert!(page.more);
    let rest = s.range("/registry/cm/", Some(&page.kvs[1].key), 0, page.revision).await.unwrap();
    assert_eq!(rest.kvs.len(), 3);
    assert!(!rest.more);
    let at = s.current_revision().await.unwrap();
    let kv = s.get("/registry/cm/ns/0").await.unwrap().unwrap();
    s.update("/registry/cm/ns/0", b"new".to_vec(), kv.mod_revision).await.unwrap();
    s.delete("/registry/cm/ns/1", None).await.unwrap();
    let old = s.range("/registry/cm/", None, 0, at).await.unwrap();
    assert_eq!(old.kvs.len(), 5);
    assert_eq!(&old.kvs[0].value[..], b"a");
    let now = s.range("/registry/cm/", None, 0, 0).await.unwrap();
    assert_eq!(now.kvs.len(), 4);
    assert_eq!(&now.kvs[0].value[..], b"new");
}

#[tokio::test]
async fn watch_replays_history_then_follows_live() {
    let (_d, s) = open();
    let r1 = s.create("/registry/a/1", b"x".to_vec()).await.unwrap();
    s.create("/registry/b/1", b"y".to_vec()).await.unwrap();
    let r3 = s.update("/registry/a/1", b"x2".to_vec(), r1).await.unwrap();
    let mut w = s.watch("/registry/a/", r1).await.unwrap();
    let e1 = w.next().await.unwrap().unwrap();
    assert_eq!((e1.revision(), e1.event_type), (r1, EventType::Put));
    let e2 = w.next().await.unwrap().unwrap();
    assert_eq!(e2.revision(), r3);
    assert_eq!(&e2.prev.unwrap().value[..], b"x");
    let (r4, _) = s.delete("/registry/a/1", None).await.unwrap();
    let e3 = w.next().await.unwrap().unwrap();
    assert_eq!((e3.revision(), e3.event_type), (r4, EventType::Delete));
    assert_eq!(&e3.kv.value[..], b"x2");
}

#[tokio::test]
async fn compaction_keeps_current_values_and_refuses_old_watches() {
    let (_d, s) = open();
    let r1 = s.create("/registry/a/1", b"1".to_vec()).await.unwrap();
    let r2 = s.update("/registry/a/1", b"2".to_vec(), r1).await.unwrap();
    s.create("/registry/a/2", b"x".to_vec()).await.unwrap();
    s.compact(r2).await.unwrap();
    assert!(matches!(s.watch("/registry/a/", r1).await, Err(StoreError::Compacted(_))));
    assert!(matches!(s.range("/registry/a/", None, 0, r1).await, Err(StoreError::Compacted(_))));
    let at = s.range("/registry/a/", None, 0, r2).await.unwrap();
    assert_eq!(at.kvs.len(), 1);
    assert_eq!(&at.kvs[0].value[..], b"2");
}

#[tokio::test]
async fn state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let rev = {
        let s = SqliteStore::open(&path).unwrap();
        s.create("/registry/a/1", b"1".to_vec()).await.unwrap();
        s.create("/registry/a/2", b"2".to_vec()).await.unwrap()
    };
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.current_revision().await.unwrap(), rev);
    assert_eq!(s.range("/registry/a/", None, 0, 0).await.unwrap().kvs.len(), 2);
    assert!(s.create("/registry/a/3", b"3".to_vec()).await.unwrap() > rev);
}

#[tokio::test]
async fn concurrent_creates_are_batched_and_all_acknowledged() {
    let (_d, s) = open();
    let s = std::sync::Arc::new(s);
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.create(&format!("/registry/p/{i:04}"), vec![0; 100]).await })
        })
        .collect();
    let mut revs = Vec::new();
    for t in tasks {
        revs.push(t.await.unwrap().unwrap());
    }
    revs.sort();
    revs.dedup();
    assert_eq!(revs.len(), 500);
    assert_eq!(s.range("/registry/p/", None, 0, 0).await.unwrap().kvs.len(), 500);
}
