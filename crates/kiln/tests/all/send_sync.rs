//! The types that cross threads are `Send + Sync`: a trainer or study handed to a worker
//! thread, a bundle or monitor shared by a server's workers.

fn send_sync<T: Send + Sync>() {}

#[test]
fn shared_types_are_send_and_sync() {
    send_sync::<kiln::train::Trainer>();
    send_sync::<kiln::train::Bundle<kiln::models::Mlp>>();
    send_sync::<kiln::tune::Study>();
    send_sync::<kiln::tune::Trial>();
    send_sync::<kiln::monitor::Monitor>();
    send_sync::<kiln::pipeline::Pipeline>();
    send_sync::<kiln::pipeline::AnyBundle>();
}
