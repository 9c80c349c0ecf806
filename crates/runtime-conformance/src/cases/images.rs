//! Image status, list and remove of present images, and what a missing image does:
//! pulling it (no registry is reachable from these machines) and creating a
//! container from it.

use capstan_proto::runtime::v1::*;
use tonic::Code;

use crate::fixtures::container_config;
use crate::Runtime;

fn spec(image: &str) -> Option<ImageSpec> {
    Some(ImageSpec { image: image.to_string() })
}

async fn status(rt: &Runtime, image: &str) -> Option<Image> {
    let request = ImageStatusRequest { image: spec(image) };
    rt.clients.images.clone().image_status(request).await.expect("ImageStatus").into_inner().image
}

pub async fn image_status_list_remove(rt: Runtime) {
    rt.pull_test_image().await;
    let test = status(&rt, &rt.images.test).await.expect("the test image is present");
    assert!(!test.id.is_empty() && test.size > 0, "{test:?}");
    assert!(test.repo_tags.iter().any(|t| t == &rt.images.test), "{test:?}");
    assert_eq!(status(&rt, &test.id).await.map(|i| i.id), Some(test.id.clone()), "an image is found by its ID");
    let mut images = rt.clients.images.clone();
    let all = images.list_images(ListImagesRequest::default()).await.expect("ListImages").into_inner().images;
    assert!(all.iter().any(|i| i.id == test.id), "the test image is listed");
    let only = images.list_images(ListImagesRequest { filter: spec(&rt.images.test) }).await.expect("ListImages");
    assert_eq!(only.into_inner().images.into_iter().map(|i| i.id).collect::<Vec<_>>(), [test.id]);

    assert!(status(&rt, &rt.images.disposable).await.is_some(), "the harness made the disposable image present");
    let remove = RemoveImageRequest { image: spec(&rt.images.disposable) };
    images.remove_image(remove.clone()).await.expect("RemoveImage");
    assert_eq!(status(&rt, &rt.images.disposable).await, None, "a removed image is not present");
    images.remove_image(remove).await.expect("RemoveImage is idempotent");
}

pub async fn missing_images_are_reported(rt: Runtime) {
    let missing = "capstan/no-such-image:never";
    assert_eq!(status(&rt, missing).await, None);
    let pod = rt.run_pod("missing").await;
    let created = rt.create(&pod, container_config("ghost", missing, &["true"])).await;
    let error = created.expect_err("creating a container from a missing image fails");
    assert_eq!(error.code(), Code::NotFound, "{error:?}");
    assert!(error.message().contains(missing), "the error names the image: {error:?}");

    let pulled =
        rt.clients.images.clone().pull_image(PullImageRequest { image: spec(missing), ..Default::default() }).await;
    if rt.caps.pulls_any_image {
        let image_ref = pulled.expect("this runtime pulls any image").into_inner().image_ref;
        assert_eq!(status(&rt, missing).await.map(|i| i.id), Some(image_ref));
    } else {
        let error = pulled.expect_err("no registry is reachable");
        assert!(error.message().contains(missing), "the error names the image: {error:?}");
        assert!(error.message().contains("registry"), "the error says why: {error:?}");
        assert_eq!(status(&rt, missing).await, None);
    }
}
