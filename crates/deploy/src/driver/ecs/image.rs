//! Image references: repository, tag, and whether ECR holds them.

use super::{Ecs, aws, driver_error};
use crate::Error;

impl Ecs {
    /// Refuses an image that is not in its ECR repository.
    pub(super) async fn check_image(&self, image: &str) -> Result<(), Error> {
        if !self.config.check_image {
            return Ok(());
        }
        let Some((registry, repository, tag)) = ecr_parts(image) else {
            tracing::info!("{image} is not in ECR: not checked");
            return Ok(());
        };
        let ecr = &self.clients().await?.ecr;
        let found = ecr
            .describe_images()
            .registry_id(registry)
            .repository_name(repository)
            .image_ids(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_tag(tag)
                    .build(),
            )
            .send()
            .await;
        match found {
            Ok(out) if !out.image_details().is_empty() => Ok(()),
            Ok(_) => Err(driver_error(format!(
                "image {image} is not in ECR repository {repository}: push it first"
            ))),
            Err(e) => {
                let e = shipgate_aws::call_failed("DescribeImages", e);
                let message = match e.code() {
                    Some("ImageNotFoundException") => format!(
                        "image {image} is not in ECR repository {repository}: push it first"
                    ),
                    Some("RepositoryNotFoundException") => {
                        format!("ECR has no repository {repository} (image {image})")
                    }
                    _ => format!("cannot check that {image} is in ECR"),
                };
                Err(aws(message, e))
            }
        }
    }
}

/// The image without its tag or digest.
pub(super) fn repository_of(image: &str) -> &str {
    let name_start = image.rfind('/').map_or(0, |i| i + 1);
    let end = image[name_start..]
        .find([':', '@'])
        .map_or(image.len(), |i| name_start + i);
    &image[..end]
}

/// The image's tag, if it has one.
pub(super) fn tag_of(image: &str) -> Option<&str> {
    let rest = &image[repository_of(image).len()..];
    let tag = rest.strip_prefix(':')?;
    Some(tag.split('@').next().unwrap_or(tag))
}

/// `(registry id, repository, tag)` of an image in ECR
/// (`123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:v2`).
pub(super) fn ecr_parts(image: &str) -> Option<(&str, &str, &str)> {
    let (host, path) = image.split_once('/')?;
    let mut labels = host.split('.');
    let account = labels.next()?;
    if labels.next()? != "dkr" || labels.next()? != "ecr" || !host.contains(".amazonaws.com") {
        return None;
    }
    let repository = repository_of(path);
    Some((account, repository, tag_of(image)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_into_repository_and_tag() {
        assert_eq!(repository_of("nginx"), "nginx");
        assert_eq!(tag_of("nginx"), None);
        assert_eq!(
            repository_of("localhost:5000/shop:v2"),
            "localhost:5000/shop"
        );
        assert_eq!(tag_of("localhost:5000/shop:v2"), Some("v2"));
        assert_eq!(tag_of("shop:v2@sha256:abc"), Some("v2"));
        assert_eq!(repository_of("shop@sha256:abc"), "shop");
        assert_eq!(tag_of("shop@sha256:abc"), None);
        assert_eq!(
            ecr_parts("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/shop:v2"),
            Some(("123456789012", "team/shop", "v2"))
        );
        assert_eq!(ecr_parts("ghcr.io/team/shop:v2"), None);
    }
}
