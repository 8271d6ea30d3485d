import { Content, PageSection, Title } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { Link } from '../router';

const ROWS = [
  {
    type: 'MPIJob',
    when: 'Your program uses MPI: Horovod, mpi4py, DeepSpeed or an HPC code launched with mpirun; ranks talk over MPI collectives.',
    needs: 'An image with an MPI implementation (Open MPI, Intel MPI or MPICH) and your code.',
    available: 'Yes',
  },
  {
    type: 'PyTorchJob',
    when: 'Plain PyTorch DistributedDataParallel or FSDP started with torchrun (NCCL/Gloo, no MPI).',
    needs: 'A PyTorch image.',
    available: 'Not yet',
  },
  {
    type: 'TFJob',
    when: 'TensorFlow MultiWorkerMirroredStrategy or parameter servers (TF_CONFIG).',
    needs: 'A TensorFlow image.',
    available: 'Not yet',
  },
  {
    type: 'Custom',
    when: 'Another framework with its own controller or launcher (Ray, Spark, JAX on TPUs…).',
    needs: 'That framework’s operator.',
    available: 'Not yet',
  },
];

/** GuidePage: a short decision guide for choosing a job type (FR-UI-006). */
export function GuidePage() {
  return (
    <>
      <PageSection>
        <Title headingLevel="h1" tabIndex={-1} className="odh-page-title">
          Choosing a job type
        </Title>
      </PageSection>
      <PageSection>
        <Content>
          <Title headingLevel="h2">Three questions</Title>
          <ol>
            <li>
              <strong>Does your code call MPI</strong> (import horovod, from mpi4py import MPI, or is it started with mpirun)?
              Use an <strong>MPIJob</strong>.
            </li>
            <li>
              <strong>Is it PyTorch started with torchrun</strong>, with no MPI? A PyTorchJob fits best; until it is available,
              an MPIJob with one rank per worker and torch.distributed on the Gloo/NCCL backend works too.
            </li>
            <li>
              <strong>Does it fit on one machine?</strong> Run it with 1 worker first: an MPIJob with a single worker and
              several slots uses all cores of one node without any network set-up.
            </li>
          </ol>
          <Title headingLevel="h2">Sizing an MPIJob</Title>
          <ul>
            <li>Workers × slots per worker = MPI ranks. One rank per GPU is the usual choice: slots = GPUs per worker.</li>
            <li>The launcher only starts mpirun; it needs little CPU and memory and no GPU.</li>
            <li>The creation page adds everything up and shows it next to your quota before you submit.</li>
          </ul>
        </Content>
        <Table aria-label="Job types compared" variant="compact" className="pf-v6-u-mt-lg">
          <Thead>
            <Tr>
              <Th>Job type</Th>
              <Th>Use it when</Th>
              <Th>You need</Th>
              <Th>Available here</Th>
            </Tr>
          </Thead>
          <Tbody>
            {ROWS.map((r) => (
              <Tr key={r.type}>
                <Td dataLabel="Job type">{r.type}</Td>
                <Td dataLabel="Use it when">{r.when}</Td>
                <Td dataLabel="You need">{r.needs}</Td>
                <Td dataLabel="Available here">{r.available}</Td>
              </Tr>
            ))}
          </Tbody>
        </Table>
        <Content component="p" className="pf-v6-u-mt-md">
          <Link to="/create">Create an MPIJob</Link>
        </Content>
      </PageSection>
    </>
  );
}
