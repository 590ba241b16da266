//! Kiln datasets batched by Burn's own `DataLoader` on each enabled CPU device.

use kiln::burn::data::dataloader::DataLoaderBuilder;
use kiln::burn::data::dataloader::batcher::Batcher;
use kiln::data::{LabeledItem, Target};
use kiln::prelude::*;

use crate::iris::Iris;

/// Features as a `[batch, features]` float tensor, classes as a `[batch]` int tensor.
#[derive(Clone, Default)]
struct ClassBatcher;

impl Batcher<LabeledItem, (Tensor<2>, Tensor<1, Int>)> for ClassBatcher {
    fn batch(&self, items: Vec<LabeledItem>, device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
        let width = items[0].features.len();
        let rows = items.len();
        let features: Vec<f32> = items.iter().flat_map(|i| i.features.clone()).collect();
        let labels: Vec<i64> = items
            .iter()
            .map(|i| match i.target {
                Target::Class(c) => i64::from(c),
                Target::Value(_) => panic!("classification batcher got a regression target"),
            })
            .collect();
        (
            Tensor::from_data(TensorData::new(features, [rows, width]), device),
            Tensor::from_data(TensorData::new(labels, [rows]), device),
        )
    }
}

/// The compiled-in devices that work here (`KILN_REQUIRE_DEVICES` must all be among them), so
/// each test body runs on every one of them.
fn devices() -> Vec<Device> {
    kiln::backend::devices_to_test()
        .unwrap()
        .into_iter()
        .map(|(_, d)| d)
        .collect()
}

#[test]
fn burn_dataloader_batches_a_preprocessed_tabular_dataset() {
    let dataset = Iris::split(0.2).train;
    let x = dataset.features().clone();
    for device in devices() {
        let loader = DataLoaderBuilder::new(ClassBatcher)
            .batch_size(32)
            .set_device(device.clone())
            .build(dataset.clone());
        assert_eq!(loader.num_items(), 120);
        let batches: Vec<_> = loader.iter().map(Result::unwrap).collect();
        assert_eq!(batches.len(), 4); // 32 + 32 + 32 + 24
        let (features, labels) = &batches[3];
        assert_eq!(features.dims(), [24, 4]);
        assert_eq!(labels.dims(), [24]);
        // Without shuffling, the first batch is the first 32 rows, unchanged.
        let first: Vec<f32> = batches[0].0.to_data().try_to_vec::<f32>().unwrap();
        assert_eq!(first, x.as_slice()[..32 * 4]);
    }
}

#[test]
fn burn_dataloader_batches_mnist() {
    let test = datasets::mnist(Split::Test).unwrap();
    let small = test.take(&(0..10).collect::<Vec<_>>());
    #[derive(Clone)]
    struct Pixels;
    impl Batcher<kiln::data::MnistItem, Tensor<3>> for Pixels {
        fn batch(&self, items: Vec<kiln::data::MnistItem>, device: &Device) -> Tensor<3> {
            let n = items.len();
            let data: Vec<f32> = items
                .iter()
                .flat_map(|i| i.pixels.iter().map(|&p| f32::from(p) / 255.0))
                .collect();
            Tensor::from_data(TensorData::new(data, [n, 28, 28]), device)
        }
    }
    for device in devices() {
        let loader = DataLoaderBuilder::new(Pixels)
            .batch_size(4)
            .shuffle(7)
            .set_device(device)
            .build(small.clone());
        let sizes: Vec<usize> = loader.iter().map(|b| b.unwrap().dims()[0]).collect();
        assert_eq!(sizes, [4, 4, 2]);
    }
}
