/**
 * The parts of Docker Engine API objects (v1.41+) the providers read. Every field is optional:
 * the daemon omits or nulls many of them depending on version and network mode.
 */
export interface EndpointSettings {
  IPAddress?: string;
  GlobalIPv6Address?: string;
  NetworkID?: string;
  Aliases?: string[] | null;
}

export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  HostConfig?: { NetworkMode?: string };
  NetworkSettings?: { Networks?: Record<string, EndpointSettings> | null };
  Ports?: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
}

export interface ContainerInspect {
  Id: string;
  Name?: string;
  State?: {
    Status?: string;
    Running?: boolean;
    Paused?: boolean;
    Restarting?: boolean;
    Health?: { Status?: string } | null;
  };
  Config?: {
    Hostname?: string;
    Labels?: Record<string, string> | null;
    Env?: string[] | null;
    ExposedPorts?: Record<string, unknown> | null;
  };
  HostConfig?: { NetworkMode?: string; PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null };
  NetworkSettings?: {
    IPAddress?: string;
    Ports?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
    Networks?: Record<string, EndpointSettings> | null;
  };
}

export interface DockerEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  scope?: string;
  time?: number;
  timeNano?: number;
}

export interface SwarmService {
  ID: string;
  Version?: { Index?: number };
  Spec?: {
    Name?: string;
    Labels?: Record<string, string> | null;
    Mode?: { Replicated?: { Replicas?: number }; Global?: object };
    TaskTemplate?: {
      ContainerSpec?: { Image?: string; Labels?: Record<string, string> | null; Env?: string[] | null };
      Networks?: { Target?: string; Aliases?: string[] }[];
    };
    EndpointSpec?: { Mode?: string; Ports?: { TargetPort?: number; PublishedPort?: number; Protocol?: string }[] };
  };
  Endpoint?: {
    Spec?: { Mode?: string };
    VirtualIPs?: { NetworkID?: string; Addr?: string }[];
    Ports?: { TargetPort?: number; PublishedPort?: number; Protocol?: string }[];
  };
}

export interface SwarmTask {
  ID: string;
  ServiceID?: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  Status?: {
    State?: string;
    ContainerStatus?: { ContainerID?: string };
    /** Ports published in `mode=host` on the task's node (docker service create --publish mode=host,…). */
    PortStatus?: { Ports?: Array<{ Protocol?: string; TargetPort?: number; PublishedPort?: number; PublishMode?: string }> | null };
  };
  NetworksAttachments?: { Network?: { ID?: string; Spec?: { Name?: string } }; Addresses?: string[] | null }[] | null;
}

export interface SwarmNode {
  ID: string;
  Status?: { State?: string; Addr?: string };
  Description?: { Hostname?: string };
}
