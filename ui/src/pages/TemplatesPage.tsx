import { Alert, Button, Content, EmptyState, EmptyStateBody, PageSection, Spinner, TextInput, Title, Toolbar, ToolbarContent, ToolbarItem } from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useCallback, useEffect, useState } from 'react';
import { useApi } from '../api/context';
import type { JobTemplate } from '../api/types';
import { useDebounced } from '../hooks';
import { formatTime } from '../lib/status';
import { useNavigate } from '../router';

/** TemplatesPage: saved job templates of a namespace; start a job from one or delete it. */
export function TemplatesPage() {
  const api = useApi();
  const nav = useNavigate();
  const [namespace, setNamespace] = useState('default');
  const ns = useDebounced(namespace.trim() || 'default', 400);
  const [items, setItems] = useState<JobTemplate[]>();
  const [error, setError] = useState<string>();
  const load = useCallback(() => {
    api.listTemplates(ns).then(
      (t) => {
        setItems(t);
        setError(undefined);
      },
      (e: Error) => setError(e.message),
    );
  }, [api, ns]);
  useEffect(load, [load]);
  return (
    <>
      <PageSection>
        <Title headingLevel="h1" tabIndex={-1} className="odh-page-title">
          Job templates
        </Title>
        <Content component="p">Templates are job specs saved on the server with “Save as template” on the creation page.</Content>
      </PageSection>
      <PageSection>
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem>
              <TextInput aria-label="Namespace" value={namespace} onChange={(_e, v) => setNamespace(v)} placeholder="Namespace" />
            </ToolbarItem>
            <ToolbarItem>
              <Button variant="primary" onClick={() => nav('/create')}>
                Create job
              </Button>
            </ToolbarItem>
          </ToolbarContent>
        </Toolbar>
        {error && <Alert variant="danger" isInline title={`Cannot list templates: ${error}`} />}
        {!items && !error ? (
          <Spinner aria-label="Loading templates" />
        ) : items && items.length === 0 ? (
          <EmptyState titleText="No templates" headingLevel="h2">
            <EmptyStateBody>Fill in the creation form and choose “Save as template”.</EmptyStateBody>
          </EmptyState>
        ) : (
          items && (
            <Table aria-label="Job templates" variant="compact" data-testid="templates-table">
              <Thead>
                <Tr>
                  <Th>Name</Th>
                  <Th>Description</Th>
                  <Th>Workers</Th>
                  <Th>Created by</Th>
                  <Th>Created</Th>
                  <Th screenReaderText="Actions" />
                </Tr>
              </Thead>
              <Tbody>
                {items.map((t) => (
                  <Tr key={t.name}>
                    <Td dataLabel="Name">{t.name}</Td>
                    <Td dataLabel="Description">{t.description || '—'}</Td>
                    <Td dataLabel="Workers">{t.job?.spec?.workers?.replicas ?? 1}</Td>
                    <Td dataLabel="Created by">{t.creator || '—'}</Td>
                    <Td dataLabel="Created">{formatTime(t.createTime)}</Td>
                    <Td dataLabel="Actions">
                      <Button variant="link" isInline onClick={() => nav(`/create?template=${encodeURIComponent(`${ns}/${t.name}`)}`)}>
                        Use
                      </Button>{' '}
                      <Button
                        variant="link"
                        isInline
                        isDanger
                        aria-label={`Delete template ${t.name}`}
                        onClick={() => api.deleteTemplate(ns, t.name ?? '').then(load, (e: Error) => setError(e.message))}
                      >
                        Delete
                      </Button>
                    </Td>
                  </Tr>
                ))}
              </Tbody>
            </Table>
          )
        )}
      </PageSection>
    </>
  );
}
