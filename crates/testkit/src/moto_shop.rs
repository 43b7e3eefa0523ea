//! A shop on a [`Moto`]: what the ECS runbooks deploy, set up through moto's own API
//! (never the code under test), for the ecs driver's tests and `cargo xtask demo ecs`.

use serde_json::{Value, json};

use crate::{Error, Moto, xml_values};

/// The ECS API's target prefix.
pub const ECS: &str = "AmazonEC2ContainerServiceV20141113";
const ECR: &str = "AmazonEC2ContainerRegistry_V20150921";
const ELB: &str = "2015-12-01";
const CLOUDWATCH: &str = "2010-08-01";

/// The subnets, security group and VPC of moto's default VPC.
#[derive(Debug, Clone)]
pub struct Network {
    /// Its subnets.
    pub subnets: Vec<String>,
    /// Its default security group.
    pub group: String,
    /// The VPC.
    pub vpc: String,
}

impl Network {
    /// A Fargate service's `networkConfiguration`.
    pub fn configuration(&self) -> Value {
        json!({"awsvpcConfiguration": {"subnets": [self.subnets[0]], "securityGroups": [self.group], "assignPublicIp": "DISABLED"}})
    }
}

/// A cluster `shop`, an ECR repository `shop` holding `tags` and a task definition
/// family `shop` (`shop:1` running `:v1`, two containers); returns the repository's
/// URI and the default VPC's network.
pub fn shop(moto: &Moto, tags: &[&str]) -> Result<(String, Network), Error> {
    moto.call(
        "ecs",
        &format!("{ECS}.CreateCluster"),
        &json!({"clusterName": "shop"}),
    )?;
    let repo = moto.call(
        "ecr",
        &format!("{ECR}.CreateRepository"),
        &json!({"repositoryName": "shop"}),
    )?;
    let repository = repo["repository"]["repositoryUri"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for (i, tag) in tags.iter().enumerate() {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023, "digest": format!("sha256:{:064x}", i + 1)},
            "layers": []
        });
        moto.call(
            "ecr",
            &format!("{ECR}.PutImage"),
            &json!({"repositoryName": "shop", "imageTag": tag, "imageManifest": manifest.to_string()}),
        )?;
    }
    moto.call(
        "ecs",
        &format!("{ECS}.RegisterTaskDefinition"),
        &json!({
            "family": "shop",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "executionRoleArn": "arn:aws:iam::123456789012:role/shop-exec",
            // Container-level memory: moto's RunTask needs it.
            "containerDefinitions": [
                {"name": "web", "image": format!("{repository}:v1"), "essential": true, "memory": 384,
                 "portMappings": [{"containerPort": 8000}],
                 "environment": [{"name": "DJANGO_SETTINGS_MODULE", "value": "shop.settings"}]},
                {"name": "sidecar", "image": "public.ecr.aws/xray/aws-xray-daemon:3.3", "essential": false, "memory": 128}
            ]
        }),
    )?;
    let ec2 = |action: &str| moto.query("ec2", "2016-11-15", action, &[]);
    let subnets = ec2("DescribeSubnets")?;
    let network = Network {
        vpc: xml_values(&subnets, "vpcId").remove(0),
        subnets: xml_values(&subnets, "subnetId"),
        group: xml_values(&ec2("DescribeSecurityGroups")?, "groupId").remove(0),
    };
    Ok((repository, network))
}

/// An ALB's listeners and the two target groups of a blue-green.
#[derive(Debug, Clone)]
pub struct Alb {
    /// The production listener (port 80).
    pub listener: String,
    /// The test listener (port 8080).
    pub test_listener: String,
    /// The blue side's target group.
    pub blue: String,
    /// The green side's target group.
    pub green: String,
}

/// An ALB `shop` with target groups `shop-blue` and `shop-green`, both listeners
/// forwarding to blue; services `shop-blue` (two tasks of `shop:1`) and `shop-green`
/// (none), each registered with its target group. Needs [`shop`] and a moto started
/// with two ECS tasks running.
pub fn blue_green(moto: &Moto, network: &Network) -> Result<Alb, Error> {
    let elb = |action: &str, params: &[(&str, &str)]| {
        moto.query("elasticloadbalancing", ELB, action, params)
    };
    let mut params = vec![("Name", "shop")];
    for (i, subnet) in network.subnets.iter().take(2).enumerate() {
        params.push((["Subnets.member.1", "Subnets.member.2"][i], subnet));
    }
    let lb = xml_values(&elb("CreateLoadBalancer", &params)?, "LoadBalancerArn").remove(0);
    let group = |name: &str| -> Result<String, Error> {
        let xml = elb(
            "CreateTargetGroup",
            &[
                ("Name", name),
                ("Protocol", "HTTP"),
                ("Port", "8000"),
                ("VpcId", &network.vpc),
                ("TargetType", "ip"),
            ],
        )?;
        Ok(xml_values(&xml, "TargetGroupArn").remove(0))
    };
    let (blue, green) = (group("shop-blue")?, group("shop-green")?);
    let listener = |port: &str| -> Result<String, Error> {
        let xml = elb(
            "CreateListener",
            &[
                ("LoadBalancerArn", &lb),
                ("Protocol", "HTTP"),
                ("Port", port),
                ("DefaultActions.member.1.Type", "forward"),
                ("DefaultActions.member.1.TargetGroupArn", &blue),
            ],
        )?;
        Ok(xml_values(&xml, "ListenerArn").remove(0))
    };
    let (prod, test) = (listener("80")?, listener("8080")?);
    for (service, tg) in [("shop-blue", &blue), ("shop-green", &green)] {
        moto.call(
            "ecs",
            &format!("{ECS}.CreateService"),
            &json!({"cluster": "shop", "serviceName": service, "taskDefinition": "shop:1",
                   "desiredCount": 2, "launchType": "FARGATE",
                   "loadBalancers": [{"targetGroupArn": tg, "containerName": "web", "containerPort": 8000}],
                   "networkConfiguration": network.configuration()}),
        )?;
    }
    // The idle side starts with no tasks (created with two, so that moto's counts add
    // up, then scaled to zero).
    moto.call(
        "ecs",
        &format!("{ECS}.UpdateService"),
        &json!({"cluster": "shop", "service": "shop-green", "desiredCount": 0}),
    )?;
    Ok(Alb {
        listener: prod,
        test_listener: test,
        blue,
        green,
    })
}

/// The share of `listener`'s traffic (percent) that goes to the green target group,
/// as moto holds the listener's weighted forward.
pub fn green_share(moto: &Moto, listener: &str) -> Result<u32, Error> {
    let xml = moto.query(
        "elasticloadbalancing",
        ELB,
        "DescribeListeners",
        &[("ListenerArns.member.1", listener)],
    )?;
    let forward = match (xml.find("<ForwardConfig>"), xml.find("</ForwardConfig>")) {
        (Some(a), Some(b)) => &xml[a..b],
        // A plain forward to one target group.
        _ => &xml[..],
    };
    let groups = xml_values(forward, "TargetGroupArn");
    let weights: Vec<u32> = xml_values(forward, "Weight")
        .iter()
        .filter_map(|w| w.parse().ok())
        .collect();
    let weights = if weights.len() == groups.len() {
        weights
    } else {
        vec![1; groups.len()]
    };
    let total: u32 = weights.iter().sum();
    let green: u32 = groups
        .iter()
        .zip(&weights)
        .filter(|(g, _)| g.contains("shop-green"))
        .map(|(_, w)| w)
        .sum();
    Ok(green * 100 / total.max(1))
}

/// A metric alarm `name` on the ALB's 5xx count, in state OK.
pub fn alarm(moto: &Moto, name: &str) -> Result<(), Error> {
    moto.query(
        "monitoring",
        CLOUDWATCH,
        "PutMetricAlarm",
        &[
            ("AlarmName", name),
            ("MetricName", "HTTPCode_Target_5XX_Count"),
            ("Namespace", "AWS/ApplicationELB"),
            ("Statistic", "Sum"),
            ("Period", "60"),
            ("EvaluationPeriods", "1"),
            ("Threshold", "5"),
            ("ComparisonOperator", "GreaterThanThreshold"),
        ],
    )?;
    set_alarm(moto, name, "OK")
}

/// Puts alarm `name` in `state` (`ALARM`, `OK`), as CloudWatch would on its own.
pub fn set_alarm(moto: &Moto, name: &str, state: &str) -> Result<(), Error> {
    moto.query(
        "monitoring",
        CLOUDWATCH,
        "SetAlarmState",
        &[
            ("AlarmName", name),
            ("StateValue", state),
            ("StateReason", "Threshold Crossed: 1 datapoint [9.0] > 5.0"),
        ],
    )
    .map(drop)
}

/// Service `name` of cluster `shop`, as moto describes it.
pub fn service(moto: &Moto, name: &str) -> Result<Value, Error> {
    let out = moto.call(
        "ecs",
        &format!("{ECS}.DescribeServices"),
        &json!({"cluster": "shop", "services": [name]}),
    )?;
    Ok(out["services"][0].clone())
}

/// `shop:2` of a task definition's ARN.
pub fn revision(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// An RDS instance `id` (PostgreSQL, 20 GiB) whose master password is `password`.
pub fn rds_instance(moto: &Moto, id: &str, password: &str) -> Result<(), Error> {
    moto.query(
        "rds",
        "2014-10-31",
        "CreateDBInstance",
        &[
            ("DBInstanceIdentifier", id),
            ("Engine", "postgres"),
            ("DBInstanceClass", "db.t3.micro"),
            ("AllocatedStorage", "20"),
            ("MasterUsername", "shop"),
            ("MasterUserPassword", password),
        ],
    )
    .map(drop)
}
